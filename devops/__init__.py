"""Tooling that runs the stack: `devops/stack.py` is what `nox -s stack_up` calls."""
