"""Online payments: the provider contract, payable records, payments and their events."""
