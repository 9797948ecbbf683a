"""Training, evaluation and publishing of the digit MLP (not used by the app)."""
