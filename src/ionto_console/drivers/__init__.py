"""Hardware drivers: the treatment board (serial), bench instruments (VISA), and the simulated bench."""
