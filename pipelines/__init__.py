"""Moving data: sources -> schema checks -> preprocessing -> windows."""
