"""Pure domain code of Project marketplace: no Django, numbers in, numbers out."""
