"""`recon bench`: the project's monthly build measured against the raw-scan floor and the
hand-written alternatives (one SQL script, one pandas script), on the same files."""
