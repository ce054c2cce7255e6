"""Tasks that succeeded before, replayed through the guarded core; the model only where the screen differs."""
