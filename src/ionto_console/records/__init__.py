"""Durable session records: storage, sample writer, audit trail, exports."""
