"""SMPP 3.4 plumbing shared by the SMS gateway and the USSD application (smpplib underneath)."""
