"""Pure domain code of Collective purchasing: no Django, numbers in, numbers out."""
