//! Retention: expire old exports and erase personal data past its horizon through the contract's erase function.
