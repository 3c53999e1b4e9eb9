"""PySide6 widgets: show state, send intents. No safety logic and no I/O here."""
