MM_STACK = "onedl"
