"""The rules of this domain (filled in below the ready commit)."""
