"""The dataset export dialog (fine-tuning and preference sets), opened from History and the Arena leaderboard."""
