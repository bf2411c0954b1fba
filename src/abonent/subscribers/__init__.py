"""The subscriber's identity: login by phone number and SMS code, sessions, own accounts."""
