"""The promised payment (обещанный платёж): a short credit with its rules in configuration."""
