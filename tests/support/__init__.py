"""Test-support code shared by the test suites (stand-ins for AWS services)."""
