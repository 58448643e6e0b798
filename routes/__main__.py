"""`python -m routes …` is the `postal` console script (how `postal up` starts its children)."""

from routes.cli import main

main()
