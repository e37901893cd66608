# The hook worker's driver is embedded with .incbin (src/hooks/driver_blob.c):
# rebuild the object when the Python file changes.
$(BUILD)/src/hooks/driver_blob.o: src/hooks/driver.py
