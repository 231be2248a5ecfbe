//! The allow-list: how every column of the contract views is treated (pseudonymize, generalize, keep, drop).
