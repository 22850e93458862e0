"""Example pages showing how a customer's own frontend can use queueadmin (see /examples/)."""
