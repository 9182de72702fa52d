"""``python -m hpviz``: the same command line as the ``hpviz`` script."""

from hpviz.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in tests/test_cli.py
    raise SystemExit(main())
