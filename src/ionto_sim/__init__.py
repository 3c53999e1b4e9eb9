"""The simulated bench: board simulator and SCPI instruments driven by one physical model."""
