SKIP = "a cost document is a file in the repository, written by `reconcile docs`: no state owns it on a backend"
