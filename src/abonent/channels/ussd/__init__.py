"""USSD: the dialogue engine (pure), its entry point for every transport, the screens."""
