"""`python -m routes …` is the `postal` console script (how `postal up` starts its children)."""

from routes.cli import main

if __name__ == "__main__":
    main()
