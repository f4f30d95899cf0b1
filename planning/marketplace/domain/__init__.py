"""Pure marketplace arithmetic: no Django, numbers in, numbers out."""
