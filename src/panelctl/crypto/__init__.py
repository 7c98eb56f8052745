"""The only home of cryptography: primitives, the record envelope, identities, the keyring."""
