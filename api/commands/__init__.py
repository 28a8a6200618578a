"""Sub-commands of the ``lienxa`` CLI."""
