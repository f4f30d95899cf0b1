"""Pure domain code of Self-balancing network: no Django, numbers in, numbers out."""
