"""The one error the co-op's domain raises: a message a treasurer understands."""


class CoopError(ValueError):
    """Bad input for a co-op operation. ``str(err)`` is shown to the person as is.

    ``messages`` holds every problem found (a rules form can have several);
    the first one is the exception's own message.
    """

    def __init__(self, message: str | list[str]):
        messages = [message] if isinstance(message, str) else list(message)
        if not messages:
            raise ValueError("CoopError needs at least one message")
        super().__init__(messages[0] if len(messages) == 1 else "; ".join(messages))
        self.messages = messages
