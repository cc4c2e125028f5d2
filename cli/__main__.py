"""``python -m iqa_eval.cli ...`` runs the ``iqa-eval`` command."""
from .main import main

if __name__ == "__main__":
    main()
