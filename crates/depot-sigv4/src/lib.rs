//! AWS Signature Version 4, signing and verifying.
