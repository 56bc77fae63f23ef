"""REST API of studies: design, launch, monitor, exclude and close, for the owner only."""
