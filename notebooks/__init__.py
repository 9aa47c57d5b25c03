"""The suite's notebooks, shipped as package data (the folder is installed as forensics.notebooks)."""
