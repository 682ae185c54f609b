"""emotion-agent's training pipeline for the facial-expression classifier (PyTorch, CPU first).

`npm run train` drives it; its output is an ordinary model bundle that the TypeScript side packs,
quantizes, validates and signs. See training/README.md.
"""
