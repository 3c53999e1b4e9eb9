"""Driver for the IONTO-1 treatment board over its serial ICD."""
