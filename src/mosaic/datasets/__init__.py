"""Custom Kedro datasets (npz labels, video) that call the domain readers/writers."""
