"""Qt-free, I/O-free treatment domain logic. Time is always passed in."""
