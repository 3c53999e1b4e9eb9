"""Controllers that own driver threads and apply core rules to every sample."""
