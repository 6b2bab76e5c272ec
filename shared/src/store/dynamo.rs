//! DynamoDB store: see issue 3.
