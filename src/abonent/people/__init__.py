"""Finding a person, the identity check, and the person view staff see after it."""
