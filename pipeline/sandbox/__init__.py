"""A local stand-in for Business Central's API v2.0: the default target and the test double."""
