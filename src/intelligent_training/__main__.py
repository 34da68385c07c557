"""``python -m intelligent_training`` runs the console script."""

from intelligent_training.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
