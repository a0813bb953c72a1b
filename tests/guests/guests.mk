# Test guests (tests/guests/README.md).  Filled in by the test-guest work.
guests:
