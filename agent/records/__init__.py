"""What runs leave on disk: the record schema, the run history and private files."""
