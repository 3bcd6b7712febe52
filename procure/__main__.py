"""``python -m procure`` runs the command line."""

from procure.cli import main

main()
