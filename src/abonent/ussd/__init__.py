"""USSD dialogues: the pure engine, its screens, the sessions, and ``service.answer``,
the one entry point every transport (HTTP callback, SMPP) calls."""
