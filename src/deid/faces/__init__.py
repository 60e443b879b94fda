"""Face detection, landmarks, oral region and obscuring for the face stage."""
