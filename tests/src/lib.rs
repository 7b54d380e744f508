//! End-to-end test harness: the built functions, the Lambda runtime API, the AWS emulator.
