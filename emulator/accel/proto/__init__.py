"""Generated TF-Serving Predict messages and stubs (see README.md here; regenerate.sh)."""
