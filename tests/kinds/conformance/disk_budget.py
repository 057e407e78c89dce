SKIP = "a disk budget owns no resource: it measures a host's disk and prunes what the engine holds unused"
